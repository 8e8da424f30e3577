"""The workflow engine: definitions, runs, the durable executor and its REST API."""
