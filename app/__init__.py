"""CareChain's Python side: the library for every patient and doctor flow (chain access, IPFS,
cryptography, record formats, keystores) and the thin Flask front end over it."""
