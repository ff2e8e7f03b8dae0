"""The account registry: holders (by pseudonymised national ID) and their accounts and cards at every bank."""
