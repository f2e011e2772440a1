//! One named test per way a signature, attestation or bundle must be refused, each asserting that the message says what did not match.
