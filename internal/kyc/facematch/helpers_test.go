package facematch_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// blankJPEG is a grey 200x200 image: no face.
func blankJPEG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
