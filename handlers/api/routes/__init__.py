"""HTTP routes, one router per resource: parse the request, call one logic function, shape the answer."""
