"""Sans-I/O protocol logic: names, digests, media types, models, parsing. No sockets, no await."""
