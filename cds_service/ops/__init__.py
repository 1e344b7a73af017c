"""Operations: the store (audit trail, feedback, JWT replay), metrics, logs, terminology."""
