"""Request and response bodies of the REST API, one module per resource. Requests reject unknown
fields; responses are built from the services' protobuf replies."""
