"""Why decoders miss: error vectors, quadrants, bias, sub-pixel phase, error taxonomy."""
