"""Human review of mule candidates (涉诈账户研判): only a confirmation lists an account as `suspected`."""
