"""A simulated Cabalmail deployment on loopback: sandbox PKI and wire endpoints."""
