"""The appraisal of each order against the ACR rules."""
