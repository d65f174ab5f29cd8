package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/personium-go/personium/swarm"
)

const swarmUsage = `Usage:
  personium swarm ref FILE   print the Swarm reference of FILE's content
  personium swarm push ...   copy a unit's file contents to a Bee node
                             (personium swarm push -h for its flags)
  personium swarm status ... whether the network holds a cell's files
                             (personium swarm status -h for its flags)

'swarm ref' splits FILE as a Bee node's POST /bytes does, without
encryption, and prints the 32-byte reference in hex: the same content
always gives the same reference, and Bee would return it too. FILE "-"
reads standard input. Nothing is stored.
`

// swarmCommand runs 'personium swarm …'. It returns the exit code: 0,
// 1 when the work failed, 2 for a usage error.
func swarmCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, swarmUsage)
		return 2
	}
	switch args[0] {
	case "ref":
		return swarmRef(args[1:], stdout, stderr)
	case "push":
		return swarmPush(args[1:], stdout, stderr)
	case "status":
		return swarmStatus(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, swarmUsage)
		return 0
	}
	fmt.Fprintf(stderr, "personium swarm: unknown command %q\n\n%s", args[0], swarmUsage)
	return 2
}

func swarmRef(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("swarm ref", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, swarmUsage)
			return 0
		}
		fmt.Fprint(stderr, swarmUsage)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "personium swarm ref: want one FILE, got %d arguments\n\n%s", fs.NArg(), swarmUsage)
		return 2
	}
	name := fs.Arg(0)
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "personium swarm ref: %v\n", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	discard := func([swarm.HashSize]byte, []byte) error { return nil }
	ref, err := swarm.Split(r, discard, swarm.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "personium swarm ref: %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintln(stdout, ref)
	return 0
}
