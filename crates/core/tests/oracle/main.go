// Command oracle answers questions about Go module rules using the x/mod
// code vendored into the Go toolchain, for modvault-core's differential
// test (tests/go_differential.rs).
//
// Protocol: each input line is an operation name followed by tab-separated,
// hex-encoded arguments; each output line is the hex-encoded answer.
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"go/version"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return "err:" + err.Error()
}

func answer(op string, args []string) string {
	switch op {
	case "checkpath":
		return errString(module.CheckPath(args[0]))
	case "checkimport":
		return errString(module.CheckImportPath(args[0]))
	case "checkfile":
		return errString(module.CheckFilePath(args[0]))
	case "check":
		return errString(module.Check(args[0], args[1]))
	case "escapepath":
		s, err := module.EscapePath(args[0])
		return s + "|" + errString(err)
	case "escapeversion":
		s, err := module.EscapeVersion(args[0])
		return s + "|" + errString(err)
	case "unescapepath":
		s, err := module.UnescapePath(args[0])
		return s + "|" + errString(err)
	case "unescapeversion":
		s, err := module.UnescapeVersion(args[0])
		return s + "|" + errString(err)
	case "split":
		prefix, major, ok := module.SplitPathVersion(args[0])
		return fmt.Sprintf("%s|%s|%v", prefix, major, ok)
	case "pathmajor":
		return errString(module.CheckPathMajor(args[0], args[1]))
	case "semver":
		v := args[0]
		return strings.Join([]string{fmt.Sprint(semver.IsValid(v)), semver.Canonical(v), semver.Major(v),
			semver.MajorMinor(v), semver.Prerelease(v), semver.Build(v), module.CanonicalVersion(v)}, "|")
	case "compare":
		return fmt.Sprint(semver.Compare(args[0], args[1]))
	case "pseudo":
		v := args[0]
		base, berr := module.PseudoVersionBase(v)
		t, terr := module.PseudoVersionTime(v)
		ts := ""
		if terr == nil {
			ts = t.UTC().Format(module.PseudoVersionTimestampFormat)
		}
		rev, rerr := module.PseudoVersionRev(v)
		return strings.Join([]string{fmt.Sprint(module.IsPseudoVersion(v)), fmt.Sprint(module.IsZeroPseudoVersion(v)),
			base, errString(berr), ts, errString(terr), rev, errString(rerr)}, "|")
	case "mkpseudo":
		t, err := time.Parse(module.PseudoVersionTimestampFormat, args[2])
		if err != nil {
			return "badtime"
		}
		return module.PseudoVersion(args[0], args[1], t, args[3])
	case "matchprefix":
		return fmt.Sprint(module.MatchPrefixPatterns(args[0], args[1]))
	case "pathmatch":
		ok, err := path.Match(args[0], args[1])
		return fmt.Sprintf("%v|%s", ok, errString(err))
	case "lang":
		return fmt.Sprint(version.Compare(version.Lang("go"+args[0]), "go"+args[1]) >= 0)
	case "modulepath":
		return modfile.ModulePath([]byte(args[0]))
	case "gomod":
		f, err := modfile.ParseLax("go.mod", []byte(args[0]), nil)
		if err != nil {
			return errString(err)
		}
		var b strings.Builder
		if f.Module != nil {
			b.WriteString("module=" + f.Module.Mod.Path + "\n")
		}
		if f.Go != nil {
			b.WriteString("go=" + f.Go.Version + "\n")
		}
		for _, r := range f.Retract {
			fmt.Fprintf(&b, "retract=%s,%s,%x\n", r.Low, r.High, r.Rationale)
		}
		return b.String()
	case "checkfiles":
		return checkFiles(args)
	case "checkzip":
		return checkZip(args)
	}
	return "unknown op " + op
}

type fakeFile struct {
	name string
	mode os.FileMode
	size int64
	data []byte
}

func (f fakeFile) Path() string                 { return f.name }
func (f fakeFile) Lstat() (os.FileInfo, error)  { return fakeInfo{f}, nil }
func (f fakeFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type fakeInfo struct{ f fakeFile }

func (i fakeInfo) Name() string       { return path.Base(i.f.name) }
func (i fakeInfo) Size() int64        { return i.f.size }
func (i fakeInfo) Mode() os.FileMode  { return i.f.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.f.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

// checkFiles: args are name, kind (r/l/o/d), size (decimal), content, repeated.
func checkFiles(args []string) string {
	var files []modzip.File
	for i := 0; i+3 < len(args); i += 4 {
		var mode os.FileMode
		switch args[i+1] {
		case "l":
			mode = os.ModeSymlink
		case "o":
			mode = os.ModeDevice
		case "d":
			mode = os.ModeDir
		}
		// Sizes are uint64 on our side; Go's FileInfo has int64 (so 1<<63
		// becomes negative, as for a real zip header).
		u, err := strconv.ParseUint(args[i+2], 10, 64)
		if err != nil {
			panic(err)
		}
		size := int64(u)
		files = append(files, fakeFile{name: args[i], mode: mode, size: size, data: []byte(args[i+3])})
	}
	cf, _ := modzip.CheckFiles(files)
	var b strings.Builder
	b.WriteString("valid:\n")
	for _, f := range cf.Valid {
		b.WriteString(f + "\n")
	}
	b.WriteString("omitted:\n")
	for _, f := range cf.Omitted {
		fmt.Fprintf(&b, "%s: %v\n", f.Path, f.Err)
	}
	b.WriteString("invalid:\n")
	for _, f := range cf.Invalid {
		fmt.Fprintf(&b, "%s: %v\n", f.Path, f.Err)
	}
	fmt.Fprintf(&b, "sizeerror: %v\n", cf.SizeError != nil)
	return b.String()
}

// checkZip: args are module path, version, then entry names; each file entry
// holds one byte, directory entries none.
func checkZip(args []string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range args[2:] {
		w, err := zw.Create(name)
		if err != nil {
			return "zipwriter:" + err.Error()
		}
		if !strings.HasSuffix(name, "/") {
			w.Write([]byte("x"))
		}
	}
	zw.Close()
	f, err := os.CreateTemp("", "oracle-*.zip")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	f.Write(buf.Bytes())
	f.Close()
	cf, err := modzip.CheckZip(module.Version{Path: args[0], Version: args[1]}, f.Name())
	if err == nil {
		err = cf.Err()
	}
	return errString(err)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		fields := strings.Split(in.Text(), "\t")
		args := make([]string, 0, len(fields)-1)
		for _, f := range fields[1:] {
			b, err := hex.DecodeString(f)
			if err != nil {
				panic(err)
			}
			args = append(args, string(b))
		}
		out.WriteString(hex.EncodeToString([]byte(answer(fields[0], args))) + "\n")
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
