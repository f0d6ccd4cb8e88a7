"""Float and integer networks, training, the codec and RD evaluation. No hardware imports."""
