package distributions

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"

	"github.com/hookflow/hookflow/payloads"
)

// FilterCostLimit bounds the work one filter evaluation may do, so a filter that loops
// over large lists or builds large values is stopped instead of stalling a workflow.
const FilterCostLimit = 100_000

var (
	filterEnvOnce sync.Once
	filterEnv     *cel.Env
	filterEnvErr  error

	// filterCache keeps compiled programs by expression: compiling costs far more than
	// evaluating, and a distribution's filter is evaluated for every event it subscribes to.
	filterCache programCache
)

// programCache keeps compiled CEL programs by expression, at most maxCachedFilters of
// them: when full it is emptied, so hostile input cannot grow it without bound.
type programCache struct {
	programs sync.Map // string -> cel.Program
	mu       sync.Mutex
	n        int
}

// compile is the cached program of expr, compiled in the filter's environment when
// missing; check may refuse the compiled expression (its result type) with an error.
func (c *programCache) compile(expr string, check func(*cel.Ast) error) (cel.Program, error) {
	if p, ok := c.programs.Load(expr); ok {
		return p.(cel.Program), nil
	}
	e, err := env()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("does not compile: %v", iss.Err())
	}
	if check != nil {
		if err := check(ast); err != nil {
			return nil, err
		}
	}
	prg, err := e.Program(ast, cel.CostLimit(FilterCostLimit))
	if err != nil {
		return nil, fmt.Errorf("does not compile: %v", err)
	}
	c.mu.Lock()
	if c.n >= maxCachedFilters {
		c.programs.Range(func(k, _ any) bool { c.programs.Delete(k); return true })
		c.n = 0
	}
	c.n++
	c.mu.Unlock()
	c.programs.Store(expr, prg)
	return prg, nil
}

const maxCachedFilters = 10_000

// The variables a filter sees: the event's fields, with data as a map of its objects.
func env() (*cel.Env, error) {
	filterEnvOnce.Do(func() {
		filterEnv, filterEnvErr = cel.NewEnv(
			cel.Variable("id", cel.StringType),
			cel.Variable("event_type", cel.StringType), // "type" is a CEL builtin,
			cel.Variable("created_at", cel.TimestampType),
			cel.Variable("entity_id", cel.StringType),
			cel.Variable("group_id", cel.StringType),
			cel.Variable("source", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
			cel.CrossTypeNumericComparisons(true),
		)
	})
	return filterEnv, filterEnvErr
}

// compileFilter compiles a filter expression that must yield a bool.
func compileFilter(expr string) (cel.Program, error) {
	return filterCache.compile(expr, func(ast *cel.Ast) error {
		if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
			return fmt.Errorf("must be a condition that yields a bool, not %s", t)
		}
		return nil
	})
}

// EvalFilter evaluates a filter on an event. An error (a missing field, a type mismatch,
// the cost limit) means the filter did not hold; the caller records it.
func EvalFilter(expr string, ev payloads.Event) (bool, error) {
	prg, err := compileFilter(expr)
	if err != nil {
		return false, err
	}
	vars, err := eventVars(ev)
	if err != nil {
		return false, err
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("yielded %v, not a bool", out.Value())
	}
	return b, nil
}

// eventVars are the variables a filter (or an ordering key) sees for ev.
func eventVars(ev payloads.Event) (map[string]any, error) {
	data := make(map[string]any, len(ev.Data))
	for name, raw := range ev.Data {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("data.%s: %v", name, err)
		}
		data[name] = v
	}
	var source map[string]any
	_ = json.Unmarshal(ev.Source, &source)
	if source == nil {
		source = map[string]any{}
	}
	return map[string]any{
		"id": ev.ID, "event_type": ev.Type, "created_at": ev.CreatedAt, "entity_id": ev.EntityID,
		"group_id": ev.GroupID, "source": source, "data": data,
	}, nil
}
