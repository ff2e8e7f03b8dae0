"""Platform core: settings, database, auth, audit, personal data, errors, clock, logging, events."""
