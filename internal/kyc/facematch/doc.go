// Package facematch holds the kyc.FaceMatcher implementations:
//
//   - Embedded runs the Node face service in ../faceservice (face-api, MIT,
//     on the TensorFlow.js WebAssembly backend) as a child process that
//     listens on a Unix socket in a private directory, and turns the
//     distance between the two 128-d face descriptors into a score.
//   - Remote calls an HTTPS face-verification API with the Azure Face
//     "detect" + "verify" request and response shapes, with timeouts and
//     bounded retries.
//
// Neither keeps an image or an embedding: request bodies are built in
// memory and zeroed after the call; nothing is logged about an image.
package facematch

// clamp01 bounds a score to [0, 1].
func clamp01(x float64) float64 {
	switch {
	case x < 0 || x != x: // NaN is no match
		return 0
	case x > 1:
		return 1
	}
	return x
}
