// stk_go.go -- a Go program whose syscalls run on goroutine stacks (2 KiB when they start):
// many goroutines write, read back and remove files, and send data through a TCP echo server
// on 127.0.0.1 inside the same program.  The cgo import (a trivial C function) makes it a
// dynamically linked program that uses libc, so LD_PRELOAD reaches it; under
// INTERCEPT_ALL_OBJS or INTERCEPT_EXHAUSTIVE the Go runtime's own syscall instructions are
// patched too and run through the library on those goroutine stacks.  It prints a
// deterministic summary and exits 0 when every byte came back as sent.  It uses the standard
// library only and never reaches beyond the loopback interface.
//
// usage: stk_go <directory for its files>
package main

/*
static int stk_add(int a, int b) { return a + b; }
*/
import "C"

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

const (
	workers = 64
	rounds  = 8
)

// payload is what worker w sends in round r: deterministic, of varying length.
func payload(w, r int) []byte {
	n := 512 + (w*37+r*101)%3000
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w*7 + r*13 + i)
	}
	return b
}

func echoServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			io.Copy(c, c)
			c.Close()
		}(c)
	}
}

func work(dir, addr string, w int) (uint32, error) {
	sum := crc32.NewIEEE()
	for r := 0; r < rounds; r++ {
		data := payload(w, r)
		p := filepath.Join(dir, fmt.Sprintf("w%d-r%d", w, r))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return 0, err
		}
		back, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		if err := os.Remove(p); err != nil {
			return 0, err
		}
		if !bytes.Equal(back, data) {
			return 0, fmt.Errorf("worker %d round %d: file content differs", w, r)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		if _, err := c.Write(data); err != nil {
			c.Close()
			return 0, err
		}
		c.(*net.TCPConn).CloseWrite()
		echoed, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(echoed, data) {
			return 0, fmt.Errorf("worker %d round %d: echo differs", w, r)
		}
		sum.Write(echoed)
	}
	return sum.Sum32(), nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: stk_go <directory>")
		os.Exit(2)
	}
	if C.stk_add(2, 3) != 5 {
		fmt.Println("cgo call: FAILED")
		os.Exit(1)
	}
	fmt.Println("cgo call: ok")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen on 127.0.0.1:", err)
		os.Exit(1)
	}
	go echoServer(ln)

	sums := make([]uint32, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sums[w], errs[w] = work(os.Args[1], ln.Addr().String(), w)
		}(w)
	}
	wg.Wait()
	ln.Close()
	failed := 0
	total := crc32.NewIEEE()
	for w := 0; w < workers; w++ {
		if errs[w] != nil {
			fmt.Println(errs[w])
			failed++
			continue
		}
		fmt.Fprintf(total, "%08x", sums[w])
	}
	fmt.Printf("%d goroutines x %d rounds of file and TCP echo I/O: %d failed, checksum %08x\n",
		workers, rounds, failed, total.Sum32())
	if failed > 0 {
		os.Exit(1)
	}
}
