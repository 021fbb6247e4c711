// Command pocketbase is stock PocketBase v0.40.4, built only to be the
// yardstick of the records load test (bench/pocketbase/run.sh): the same
// wrk scripts run against it and against Rampart on the same machine.
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	if err := pocketbase.New().Start(); err != nil {
		log.Fatal(err)
	}
}
