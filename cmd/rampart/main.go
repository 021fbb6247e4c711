// Command rampart is the Rampart platform: one binary that serves the API
// and console and runs every operator task (migrate, keys, audit, admin).
//
// Exit codes: 0 success; 1 failure; 2 bad usage or configuration;
// 3 audit verification found tampering.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()})
	stop()
	os.Exit(code)
}
