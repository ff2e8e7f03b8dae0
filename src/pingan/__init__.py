"""pingan (平安): a smart-policing platform for a district public-security bureau."""

__version__ = "0.1.0"
