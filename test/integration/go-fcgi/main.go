// A FastCGI app on Go's net/http/fcgi (issue 15 §1): it serves concurrent request ids on one
// connection. Listens on 127.0.0.1:0 and prints the port on stdout.
// Routes: /echo (the request body back), /bytes?n=N (N bytes of a repeating pattern),
// /slow?ms=N (answers after N ms; net/http/fcgi ignores FCGI_ABORT_REQUEST once a request's
// body is in, so an aborted one still answers, late).
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"time"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		buf := make([]byte, 4096)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for n > 0 {
			k := n
			if k > len(buf) {
				k = len(buf)
			}
			w.Write(buf[:k])
			n -= k
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "slept %d ms\n", ms)
	})
	fmt.Fprintln(os.Stderr, fcgi.Serve(l, mux))
}
