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
	filterCache   sync.Map // string -> cel.Program
	filterCacheN  int
	filterCacheMu sync.Mutex
)

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
	if p, ok := filterCache.Load(expr); ok {
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
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("must be a condition that yields a bool, not %s", t)
	}
	prg, err := e.Program(ast, cel.CostLimit(FilterCostLimit))
	if err != nil {
		return nil, fmt.Errorf("does not compile: %v", err)
	}
	filterCacheMu.Lock()
	if filterCacheN >= maxCachedFilters {
		filterCache.Range(func(k, _ any) bool { filterCache.Delete(k); return true })
		filterCacheN = 0
	}
	filterCacheN++
	filterCacheMu.Unlock()
	filterCache.Store(expr, prg)
	return prg, nil
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
