package payloads

// TestAnswer is a receiver's answer to the test of a distribution: one attempt made at
// once, outside any delivery's schedule (hookflow distributions test). It carries the
// answer's headers too, which a real attempt does not keep, since they are what an operator
// looks at when a receiver misbehaves.
type TestAnswer struct {
	Response
	// Headers are the answer's headers, as received; none when there was no answer.
	Headers map[string][]string `json:"headers,omitempty"`
	// Outcome is what the answer would mean for a real delivery: delivered, retryable,
	// gone or rejected.
	Outcome Outcome `json:"outcome"`
	// Error says why the attempt failed: the status and URL, or why there was no answer.
	Error string `json:"error,omitempty"`
}
