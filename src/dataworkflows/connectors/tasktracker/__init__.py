"""The Task Tracker connector: port, REST client, actions (incl. upsert by external_ref)."""
