package app

import (
	"context"

	"github.com/rampart-platform/rampart/internal/kyc"
	"github.com/rampart-platform/rampart/internal/kyc/facematch"
)

// OpenKYC builds identity verification from kyc.*: nil when kyc.matcher
// is off. With the embedded matcher it starts the Node face service as a
// child process; the returned stop ends it (and is never nil).
func OpenKYC(ctx context.Context, d *Data) (*kyc.Service, func(), error) {
	cfg := d.Config.KYC
	var (
		matcher kyc.FaceMatcher
		stop    = func() {}
	)
	switch cfg.Matcher {
	case "embedded":
		// Supervised: a crashed face service is restarted on the next use.
		e, err := facematch.StartSupervised(ctx, facematch.EmbeddedConfig{
			Node: cfg.Node, ServiceDir: cfg.FaceServiceDir, Log: d.Log,
			MaxBytes: kyc.BodyLimit(kycLimits(d)),
		})
		if err != nil {
			return nil, stop, err
		}
		matcher, stop = e, e.Close
	case "remote":
		r, err := facematch.NewRemote(facematch.RemoteConfig{Endpoint: cfg.RemoteEndpoint, Key: facematch.Secret(cfg.RemoteKey)})
		if err != nil {
			return nil, stop, err
		}
		matcher = r
	default:
		return nil, stop, nil
	}
	// No OCR engine in the default build: clients send the MRZ text
	// (kyc.MRZText); a build with -tags tesseract can plug one in here.
	return kyc.New(d.DB, d.Audit, defaultOCR(), matcher, cfg.FaceThreshold, kycLimits(d), d.Now), stop, nil
}

func kycLimits(d *Data) kyc.Limits {
	return kyc.Limits{MaxImageBytes: d.Config.KYC.MaxImageBytes, MaxImagePixels: int64(d.Config.KYC.MaxImagePixels)}
}
