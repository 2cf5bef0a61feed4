// The go command's verdict on a module zip, for zip_differential.rs: for
// each file named on the command line, what the go command does with a
// downloaded zip before it uses it (modfetch's prefix check, x/mod's
// CheckZip, reading every file as HashZip does). Prints one line per file:
// "ok h1:..." or "err <reason>".
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func verdict(path string) error {
	m := module.Version{Path: "example.com/m", Version: "v1.0.0"}
	if _, err := modzip.CheckZip(m, path); err != nil {
		return err
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer z.Close()
	prefix := m.Path + "@" + m.Version + "/"
	for _, f := range z.File {
		if !strings.HasPrefix(f.Name, prefix) {
			return fmt.Errorf("unexpected file %s", f.Name)
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func main() {
	for _, path := range os.Args[1:] {
		if err := verdict(path); err != nil {
			fmt.Printf("err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		sum, err := dirhash.HashZip(path, dirhash.Hash1)
		if err != nil {
			fmt.Printf("err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("ok %s\n", sum)
	}
}
