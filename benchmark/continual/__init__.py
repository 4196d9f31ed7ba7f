"""Class-incremental streams (avalanche) and GDumb-style memories built by any strategy."""
