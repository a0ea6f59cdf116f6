package zuorasim

import (
	"fmt"
	"strconv"
	"strings"
)

// A small evaluator for the JEXL conditions of custom event triggers (POST /events/event-triggers). Zuora
// evaluates a trigger's condition on every change of its base object: changeType ('INSERT', 'UPDATE',
// 'DELETE'), each field of the changed record as <Object>.<Field> and its value before the change as
// <Object>.<Field>_old. What is supported is what zuora-sync's conditions need (events.CalloutSpecs): the
// operators == != < > <= >= && || !, parentheses, string literals ('...' or "...", backslash escapes), number
// literals (optionally negative), null, true and false, and field references. Anything else is refused when the
// trigger is created (a 400 naming the problem), as Zuora refuses a condition it cannot parse.
//
// Semantics: == and != compare numbers numerically (a numeric string equals the number it spells), strings and
// booleans by value, and null equals only null; the orderings compare numbers numerically and strings
// lexically (dates as YYYY-MM-DD order correctly), and are false when either side is null or the types differ.
// && and || short-circuit on truthiness (false, null, "" and 0 are falsy); the condition holds when its value is
// truthy.

// jexlEnv resolves a reference: "changeType", "Invoice.Status", "Invoice.Status_old". Missing → nil (null).
type jexlEnv func(name string) any

type jexlNode interface {
	eval(env jexlEnv) any
}

type (
	jexlLit struct{ v any }
	jexlRef struct{ name string }
	jexlNot struct{ x jexlNode }
	jexlBin struct {
		op   string
		l, r jexlNode
	}
)

func (n jexlLit) eval(jexlEnv) any     { return n.v }
func (n jexlRef) eval(env jexlEnv) any { return jexlNormalize(env(n.name)) }
func (n jexlNot) eval(env jexlEnv) any { return !jexlTruthy(n.x.eval(env)) }

func (n jexlBin) eval(env jexlEnv) any {
	switch n.op {
	case "&&":
		l := n.l.eval(env)
		if !jexlTruthy(l) {
			return false
		}
		return jexlTruthy(n.r.eval(env))
	case "||":
		if jexlTruthy(n.l.eval(env)) {
			return true
		}
		return jexlTruthy(n.r.eval(env))
	}
	l, r := n.l.eval(env), n.r.eval(env)
	switch n.op {
	case "==":
		return jexlEqual(l, r)
	case "!=":
		return !jexlEqual(l, r)
	}
	c, ok := jexlCompare(l, r)
	if !ok {
		return false
	}
	switch n.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default: // ">="
		return c >= 0
	}
}

// jexlNormalize turns the Go values a change carries into the evaluator's: nil, string, float64, bool.
func jexlNormalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case moneyValue:
		return float64(x)
	case float64, string, bool, nil:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func jexlTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	}
	return true
}

func jexlNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func jexlEqual(l, r any) bool {
	if l == nil || r == nil {
		return l == nil && r == nil
	}
	_, lNum := l.(float64)
	_, rNum := r.(float64)
	if lNum || rNum {
		a, ok1 := jexlNumber(l)
		b, ok2 := jexlNumber(r)
		return ok1 && ok2 && a == b
	}
	return l == r
}

func jexlCompare(l, r any) (int, bool) {
	if l == nil || r == nil {
		return 0, false
	}
	_, lNum := l.(float64)
	_, rNum := r.(float64)
	if lNum || rNum {
		a, ok1 := jexlNumber(l)
		b, ok2 := jexlNumber(r)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	}
	ls, ok1 := l.(string)
	rs, ok2 := r.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(ls, rs), true
}

// jexlCondition is a parsed condition and the references it makes.
type jexlCondition struct {
	root jexlNode
	refs []string
}

// holds evaluates the condition.
func (c *jexlCondition) holds(env jexlEnv) bool { return jexlTruthy(c.root.eval(env)) }

// parseJEXL parses a condition; the error says what is wrong and where.
func parseJEXL(src string) (*jexlCondition, error) {
	toks, err := jexlLex(src)
	if err != nil {
		return nil, err
	}
	p := &jexlParser{toks: toks}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s at offset %d", t, t.pos)
	}
	return &jexlCondition{root: root, refs: p.refs}, nil
}

type jexlTokKind int

const (
	tokEOF jexlTokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
)

type jexlTok struct {
	kind jexlTokKind
	text string // ident name, operator, number text, string value
	pos  int
}

func (t jexlTok) String() string {
	switch t.kind {
	case tokEOF:
		return "end of condition"
	case tokString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func jexlLex(src string) ([]jexlTok, error) {
	var out []jexlTok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdentStart(c):
			j := i
			for j < len(src) && (isIdentPart(src[j]) || src[j] == '.' && j+1 < len(src) && isIdentStart(src[j+1])) {
				j++
			}
			out = append(out, jexlTok{kind: tokIdent, text: src[i:j], pos: i})
			i = j
		case isDigit(c):
			j := i
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j < len(src) && isIdentStart(src[j]) {
				return nil, fmt.Errorf("malformed number at offset %d", i)
			}
			out = append(out, jexlTok{kind: tokNumber, text: src[i:j], pos: i})
			i = j
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' {
					j++
					if j == len(src) {
						break
					}
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, fmt.Errorf("unterminated string starting at offset %d", i)
			}
			out = append(out, jexlTok{kind: tokString, text: b.String(), pos: i})
			i = j + 1
		default:
			op := ""
			for _, cand := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "-"} {
				if strings.HasPrefix(src[i:], cand) {
					op = cand
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unsupported character %q at offset %d", c, i)
			}
			out = append(out, jexlTok{kind: tokOp, text: op, pos: i})
			i += len(op)
		}
	}
	return append(out, jexlTok{kind: tokEOF, pos: len(src)}), nil
}

type jexlParser struct {
	toks []jexlTok
	i    int
	refs []string
}

func (p *jexlParser) peek() jexlTok { return p.toks[p.i] }
func (p *jexlParser) next() jexlTok { t := p.toks[p.i]; p.i++; return t }

func (p *jexlParser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	if t.kind != tokOp {
		return "", false
	}
	for _, o := range ops {
		if t.text == o {
			return o, true
		}
	}
	return "", false
}

func (p *jexlParser) or() (jexlNode, error) {
	l, err := p.and()
	for err == nil {
		if _, ok := p.isOp("||"); !ok {
			return l, nil
		}
		p.next()
		var r jexlNode
		if r, err = p.and(); err == nil {
			l = jexlBin{op: "||", l: l, r: r}
		}
	}
	return nil, err
}

func (p *jexlParser) and() (jexlNode, error) {
	l, err := p.not()
	for err == nil {
		if _, ok := p.isOp("&&"); !ok {
			return l, nil
		}
		p.next()
		var r jexlNode
		if r, err = p.not(); err == nil {
			l = jexlBin{op: "&&", l: l, r: r}
		}
	}
	return nil, err
}

func (p *jexlParser) not() (jexlNode, error) {
	if _, ok := p.isOp("!"); ok {
		p.next()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return jexlNot{x: x}, nil
	}
	return p.cmp()
}

func (p *jexlParser) cmp() (jexlNode, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	op, ok := p.isOp("==", "!=", "<", ">", "<=", ">=")
	if !ok {
		return l, nil
	}
	p.next()
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	if _, again := p.isOp("==", "!=", "<", ">", "<=", ">="); again {
		return nil, fmt.Errorf("chained comparison at offset %d: use && between comparisons", p.peek().pos)
	}
	return jexlBin{op: op, l: l, r: r}, nil
}

func (p *jexlParser) operand() (jexlNode, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return jexlLit{v: t.text}, nil
	case tokNumber:
		f, _ := strconv.ParseFloat(t.text, 64)
		return jexlLit{v: f}, nil
	case tokIdent:
		switch t.text {
		case "null":
			return jexlLit{v: nil}, nil
		case "true":
			return jexlLit{v: true}, nil
		case "false":
			return jexlLit{v: false}, nil
		}
		if _, call := p.isOp("("); call {
			return nil, fmt.Errorf("function calls are not supported (%s at offset %d)", t.text, t.pos)
		}
		p.refs = append(p.refs, t.text)
		return jexlRef{name: t.text}, nil
	case tokOp:
		switch t.text {
		case "(":
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tokOp || c.text != ")" {
				return nil, fmt.Errorf("expected ')' at offset %d, found %s", c.pos, c)
			}
			return x, nil
		case "-":
			if n := p.peek(); n.kind == tokNumber {
				p.next()
				f, _ := strconv.ParseFloat(n.text, 64)
				return jexlLit{v: -f}, nil
			}
		}
	}
	return nil, fmt.Errorf("unexpected %s at offset %d", t, t.pos)
}

// checkTriggerCondition parses a trigger's condition and checks that it refers only to changeType and to fields
// of the base object (Zuora evaluates a trigger on the changed record alone).
func checkTriggerCondition(baseObject, condition string) (*jexlCondition, error) {
	c, err := parseJEXL(condition)
	if err != nil {
		return nil, err
	}
	for _, ref := range c.refs {
		if ref == "changeType" {
			continue
		}
		obj, field, ok := strings.Cut(ref, ".")
		if !ok || obj != baseObject || field == "" || strings.Contains(field, ".") {
			return nil, fmt.Errorf("'%s' is not a field of the base object %s (use changeType or %s.<Field>[_old])", ref, baseObject, baseObject)
		}
	}
	return c, nil
}
