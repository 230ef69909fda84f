"""The serving machinery behind the service: the inference log and the HTTP guard. Nothing here
changes with the model or the data; what a data scientist edits is in the modules above."""
