package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"io"
	"net/http"
	"net/rpc"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/structs"
)

// RPCServer dispatches net/rpc requests to registered endpoints, as
// net/rpc's Server does, with two differences that net/rpc cannot be made
// to have: a panicking endpoint answers an internal error instead of
// killing the process (net/rpc calls endpoints on a goroutine without a
// recover, so one bad request took down the leader), and a request whose
// arguments carry a context (structs.ContextSetter) learns through it that
// the caller hung up, so a blocking query whose caller is gone stops
// instead of holding its goroutines and socket for up to ten minutes.
//
// The wire protocol is net/rpc's: any rpc.ServerCodec, and so every
// net/rpc client, works unchanged.
type RPCServer struct {
	logger  hclog.Logger
	methods map[string]*rpcMethod
}

// rpcMethod is one endpoint method: func(recv, *Args, *Reply) error.
type rpcMethod struct {
	fn        reflect.Value
	argType   reflect.Type // the element type of the *Args parameter
	replyType reflect.Type // the element type of the *Reply parameter
}

var typeOfError = reflect.TypeFor[error]()

// NewRPCServer returns a server with no endpoints.
func NewRPCServer(logger hclog.Logger) *RPCServer {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &RPCServer{logger: logger, methods: map[string]*rpcMethod{}}
}

// RegisterName makes the exported methods of rcvr that have net/rpc's
// shape (two pointer arguments, an error result) callable as name.Method.
func (s *RPCServer) RegisterName(name string, rcvr any) error {
	v := reflect.ValueOf(rcvr)
	t := v.Type()
	n := 0
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		mt := m.Type
		if !m.IsExported() || mt.NumIn() != 3 || mt.NumOut() != 1 || mt.Out(0) != typeOfError {
			continue
		}
		arg, reply := mt.In(1), mt.In(2)
		if arg.Kind() != reflect.Pointer || reply.Kind() != reflect.Pointer ||
			!isExportedOrBuiltin(arg.Elem()) || !isExportedOrBuiltin(reply.Elem()) {
			continue
		}
		s.methods[name+"."+m.Name] = &rpcMethod{fn: v.Method(i), argType: arg.Elem(), replyType: reply.Elem()}
		n++
	}
	if n == 0 {
		return fmt.Errorf("rpc: type %s has no methods of the right shape", t)
	}
	return nil
}

func isExportedOrBuiltin(t reflect.Type) bool {
	return token.IsExported(t.Name()) || t.PkgPath() == ""
}

// invalidRequest is the body sent with an error, as net/rpc sends it.
var invalidRequest = struct{}{}

// ServeCodec serves the requests read from codec until it fails or the
// caller hangs up, each on its own goroutine. When reading stops, every
// request still running sees its context cancelled: a caller never hangs
// up in the middle of a request it still wants answered.
func (s *RPCServer) ServeCodec(codec rpc.ServerCodec) {
	ctx, cancel := context.WithCancel(context.Background())
	sending := &sync.Mutex{}
	var wg sync.WaitGroup
	for {
		var req rpc.Request
		if err := codec.ReadRequestHeader(&req); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				s.logger.Trace("rpc read failed", "error", err)
			}
			break
		}
		m, argv, err := s.readBody(codec, &req)
		if err != nil {
			// As net/rpc: a request whose header was read is answered,
			// and reading goes on (a caller that cannot stay in step
			// retires the connection itself).
			s.send(codec, sending, &req, invalidRequest, err.Error())
			continue
		}
		if cs, ok := argv.Interface().(structs.ContextSetter); ok {
			cs.SetContext(ctx)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.call(codec, sending, &req, m, argv)
		}()
	}
	cancel()
	wg.Wait()
	codec.Close()
}

// ServeRequest serves one request synchronously. The arguments keep the
// context their codec gave them (the in-memory codec copies the caller's).
func (s *RPCServer) ServeRequest(codec rpc.ServerCodec) error {
	var req rpc.Request
	if err := codec.ReadRequestHeader(&req); err != nil {
		return err
	}
	m, argv, err := s.readBody(codec, &req)
	if err != nil {
		s.send(codec, &sync.Mutex{}, &req, invalidRequest, err.Error())
		return nil
	}
	s.call(codec, &sync.Mutex{}, &req, m, argv)
	return nil
}

// readBody finds the method of req and decodes its arguments; the body of
// a request for an unknown method is discarded.
func (s *RPCServer) readBody(codec rpc.ServerCodec, req *rpc.Request) (*rpcMethod, reflect.Value, error) {
	m, ok := s.methods[req.ServiceMethod]
	if !ok {
		// Any string can name a method: unknown ones share one label.
		metrics.IncrCounterWithLabels(keyRPCRequestError, 1, label("method", "unknown"))
		codec.ReadRequestBody(nil)
		return nil, reflect.Value{}, errors.New("rpc: can't find method " + req.ServiceMethod)
	}
	argv := reflect.New(m.argType)
	if err := codec.ReadRequestBody(argv.Interface()); err != nil {
		return nil, reflect.Value{}, err
	}
	return m, argv, nil
}

// call runs one request and sends its answer. A panic in the endpoint is
// logged with its stack and answered as an internal error.
func (s *RPCServer) call(codec rpc.ServerCodec, sending *sync.Mutex, req *rpc.Request, m *rpcMethod, argv reflect.Value) {
	replyv := reflect.New(m.replyType)
	errMsg := ""
	start := time.Now()
	defer func() {
		// Method names come from the registered endpoints: bounded.
		labels := label("method", req.ServiceMethod)
		metrics.MeasureSinceWithLabels(keyRPCRequest, start, labels)
		if errMsg != "" {
			metrics.IncrCounterWithLabels(keyRPCRequestError, 1, labels)
		}
	}()
	func() {
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("rpc handler panicked", "method", req.ServiceMethod, "panic", r, "stack", string(debug.Stack()))
				errMsg = ErrRPCPanic.Error()
			}
		}()
		out := m.fn.Call([]reflect.Value{argv, replyv})
		if err, _ := out[0].Interface().(error); err != nil {
			errMsg = err.Error()
		}
	}()
	if errMsg != "" {
		s.send(codec, sending, req, invalidRequest, errMsg)
		return
	}
	s.send(codec, sending, req, replyv.Interface(), "")
}

func (s *RPCServer) send(codec rpc.ServerCodec, sending *sync.Mutex, req *rpc.Request, reply any, errMsg string) {
	resp := &rpc.Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq, Error: errMsg}
	sending.Lock()
	defer sending.Unlock()
	if err := codec.WriteResponse(resp, reply); err != nil {
		s.logger.Trace("rpc write failed", "method", req.ServiceMethod, "error", err)
	}
}

// ErrRPCPanic is the answer of a request whose endpoint panicked.
var ErrRPCPanic = structs.NewErrCoded(http.StatusInternalServerError, "internal error: the request's handler failed; see the server log")
