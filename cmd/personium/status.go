package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/bee"
)

const statusUsage = `Usage:
  personium swarm status --data DIR --bee-url URL --cell NAME
  personium swarm status --es-url URL [--es-index-prefix P] --bee-url URL --cell NAME

'swarm status' lists the files of a cell with, for each, whether the
Swarm network can give its content (Bee's GET /stewardship/{ref}):
"retrievable" once its chunks have reached the nodes responsible for
them, "local only" while only the node itself holds them. It reads the
metadata in DIR (or, with --es-url, in the Elasticsearch indices of a
unit run with --metastore elasticsearch) and only reads from the node
(the server may run).
`

// swarmStatus runs 'personium swarm status'.
func swarmStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("swarm status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, statusUsage) }
	data := fs.String("data", envDefault("DATA", "./data"), "data folder of the unit")
	beeURL := fs.String("bee-url", envDefault("BEE_URL", ""), "API URL of the Bee node")
	cellName := fs.String("cell", "", "the cell whose files to list")
	esURL := fs.String("es-url", envDefault("ES_URL", ""), "Elasticsearch URLs of a unit on --metastore elasticsearch (its metadata is read there, not in DIR)")
	esPrefix := fs.String("es-index-prefix", envDefault("ES_INDEX_PREFIX", "personium"), "index prefix of that unit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *beeURL == "" || *cellName == "" {
		fmt.Fprint(stderr, statusUsage)
		return 2
	}
	if err := status(context.Background(), metaSource{data: *data, esURL: *esURL, esPrefix: *esPrefix}, *beeURL, *cellName, stdout); err != nil {
		fmt.Fprintf(stderr, "personium swarm status: %v\n", err)
		return 1
	}
	return 0
}

func status(ctx context.Context, src metaSource, beeURL, cellName string, stdout io.Writer) error {
	meta, err := src.open(ctx)
	if err != nil {
		return err
	}
	defer meta.Close()
	// The node is only read from: no batch is needed, any well-formed ID does.
	node, err := bee.New(beeURL, "0000000000000000000000000000000000000000000000000000000000000000", bee.Options{})
	if err != nil {
		return err
	}
	cells := cell.NewManager(meta)
	c, err := cells.Get(ctx, cellName)
	if err != nil {
		return fmt.Errorf("cell %q: %w", cellName, err)
	}
	boxes := map[string]string{cell.BoxRoot(c.ID, ""): "__"}
	res, err := meta.Query(ctx, &metastore.Query{Kind: "Box", Cell: c.ID, AnyParent: true, Limit: -1})
	if err != nil {
		return err
	}
	for _, b := range res.Docs {
		var body struct{ Name string }
		if err := json.Unmarshal(b.Body, &body); err != nil {
			return err
		}
		boxes[cell.BoxRoot(c.ID, b.ID)] = body.Name
	}
	var files, retrievable int
	err = dav.Files(ctx, meta, c.ID, func(f dav.File) error {
		ref, err := swarm.ParseReference(f.Ref)
		if err != nil {
			return err
		}
		ok, err := node.Retrievable(ctx, ref)
		if err != nil {
			return fmt.Errorf("%s%s: %w", boxes[f.Root], f.Path, err)
		}
		state := "local only"
		if ok {
			state = "retrievable"
			retrievable++
		}
		files++
		box := boxes[f.Root]
		if box == "" {
			box = f.Root
		}
		fmt.Fprintf(stdout, "%-12s %10d  %s%s\n", state, f.Size, box, f.Path)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d of %d files retrievable from the network\n", retrievable, files)
	return nil
}
