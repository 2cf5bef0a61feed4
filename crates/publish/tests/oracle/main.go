// Command oracle builds module zips with the x/mod/zip code vendored into
// the Go toolchain, for modvault-publish's differential test
// (tests/go_differential.rs).
//
// Protocol: one JSON request per input line,
//
//	{"dir": ..., "path": ..., "version": ..., "our_zip": ...}
//
// and one JSON answer per output line: what zip.CreateFromDir makes of the
// directory, and what the go command's checks make of our zip.
package main

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

type request struct {
	Dir     string `json:"dir"`
	Path    string `json:"path"`
	Version string `json:"version"`
	OurZip  string `json:"our_zip"`
}

type answer struct {
	// CreateFromDir: either Error, or Invalid (a FileErrorList), or a zip
	// with Hash, Names (in order) and GoMod (nil if it has none).
	Error   string   `json:"error"`
	Invalid []string `json:"invalid"`
	Hash    string   `json:"hash"`
	Names   []string `json:"names"`
	GoMod   *string  `json:"go_mod"`
	// CheckDir, when it succeeds: the valid files and the omitted ones
	// ("path: reason"), paths relative to the directory, slash-separated.
	DirValid   []string `json:"dir_valid"`
	DirOmitted []string `json:"dir_omitted"`
	// Our zip, if any: its h1: hash, CheckZip's verdict, Unzip's verdict.
	OurHash  string `json:"our_hash"`
	OurCheck string `json:"our_check"`
	OurUnzip string `json:"our_unzip"`
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func handle(req request, tmp string) (a answer) {
	m := module.Version{Path: req.Path, Version: req.Version}
	goZip := filepath.Join(tmp, "go.zip")
	f, err := os.Create(goZip)
	if err != nil {
		panic(err)
	}
	err = modzip.CreateFromDir(f, m, req.Dir)
	f.Close()
	if err != nil {
		var list modzip.FileErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				a.Invalid = append(a.Invalid, e.Error())
			}
		} else {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
			}
			a.Error = err.Error()
		}
	} else {
		if a.Hash, err = dirhash.HashZip(goZip, dirhash.Hash1); err != nil {
			panic(err)
		}
		z, err := zip.OpenReader(goZip)
		if err != nil {
			panic(err)
		}
		a.Names = []string{}
		for _, zf := range z.File {
			a.Names = append(a.Names, zf.Name)
			if zf.Name == req.Path+"@"+req.Version+"/go.mod" {
				rc, err := zf.Open()
				if err != nil {
					panic(err)
				}
				data, err := io.ReadAll(rc)
				if err != nil {
					panic(err)
				}
				s := string(data)
				a.GoMod = &s
			}
		}
		z.Close()
	}
	if cf, err := modzip.CheckDir(req.Dir); err == nil {
		rel := func(p string) string {
			r, err := filepath.Rel(req.Dir, p)
			if err != nil {
				panic(err)
			}
			return filepath.ToSlash(r)
		}
		a.DirValid = []string{}
		for _, p := range cf.Valid {
			a.DirValid = append(a.DirValid, rel(p))
		}
		a.DirOmitted = []string{}
		for _, fe := range cf.Omitted {
			a.DirOmitted = append(a.DirOmitted, rel(fe.Path)+": "+fe.Err.Error())
		}
	}
	if req.OurZip != "" {
		hash, err := dirhash.HashZip(req.OurZip, dirhash.Hash1)
		if err != nil {
			hash = "error: " + err.Error()
		}
		a.OurHash = hash
		_, err = modzip.CheckZip(m, req.OurZip)
		a.OurCheck = errString(err)
		unzipDir := filepath.Join(tmp, "unzipped")
		os.RemoveAll(unzipDir)
		a.OurUnzip = errString(modzip.Unzip(unzipDir, m, req.OurZip))
		os.RemoveAll(unzipDir)
	}
	return a
}

func main() {
	tmp, err := os.MkdirTemp("", "modvault-publish-oracle-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		if err := enc.Encode(handle(req, tmp)); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
	out.Flush()
}
