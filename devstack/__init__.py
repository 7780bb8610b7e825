"""Running the project on one machine: starting backing servers, the services, and regenerating stubs."""
