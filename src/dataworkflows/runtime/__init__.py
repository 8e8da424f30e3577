"""What every component is built on: settings, the app factory, the database, logging,
actions, evaluation, secrets. The bottom layer above the contracts: nothing here knows
the engine, a connector, the reports or the bot."""
