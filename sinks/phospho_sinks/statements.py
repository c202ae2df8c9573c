"""The read path's statement check by a SQL parser: one SELECT over the `phospho` database.

sqlglot, ClickHouse dialect. WITH, UNION/INTERSECT/EXCEPT of SELECTs and subqueries are SELECTs.

Refused, with a one-line reason naming what: several statements, anything but a SELECT, a
SETTINGS or FORMAT clause, INTO OUTFILE, every table function but `numbers` (file, url, remote,
s3, mysql, executable, merge, cluster, ...), the functions that reach files or other tables by
name (file, joinGet, dictGet..., hasColumnInTable), and tables of any other database (system,
information_schema, default, ...). Unqualified names are tables of `phospho` (the read path
runs with it as the current database). SQL the parser cannot read is refused too: nothing it
has not checked reaches ClickHouse. ClickHouse's readonly=1 is the second lock (readonly.py);
on chDB it does not stop the `file()` function nor INTO OUTFILE, so this check is the one for them.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from ._errors import ReadOnlyError

__all__ = ["DATABASE", "TABLE_FUNCTIONS", "check_read_only"]

DATABASE = "phospho"
#: the table functions a query may use: `numbers` reads nothing (the time and result limits bound it)
TABLE_FUNCTIONS = frozenset({"numbers"})
_FUNCTIONS = frozenset({"file", "joinget", "joingetornull", "hascolumnintable", "catboostevaluate"})
_FUNCTION_PREFIXES = ("dict",)  # dictGet, dictHas, dictGetHierarchy, ...: dictionaries by name
_IN_FUNCTIONS = frozenset({"in", "notin", "globalin", "globalnotin", "nullin", "notnullin",
                           "globalnullin", "globalnotnullin"})
_WRITES = (exp.Insert, exp.Delete, exp.Update, exp.Merge, exp.Create, exp.Drop, exp.Alter,
           exp.TruncateTable, exp.Command, exp.Set, exp.Use)
_NAMES = {"TruncateTable": "TRUNCATE", "Command": None}


def _refuse(what: str, why: str) -> ReadOnlyError:
    return ReadOnlyError(f"refused: {what}: {why}")


_OUTSIDE = f"only tables of the {DATABASE} database can be read"
_ONLY_SELECT = f"the read path runs one SELECT over the {DATABASE} database"


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return _NAMES.get(type(node).__name__) or type(node).__name__.upper()


def _function_name(node: exp.Expression) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _check_tokens(sql: str) -> None:
    """What the tokens alone show (strings and comments are tokens, never statements): how many
    statements, what kind, INTO OUTFILE. Nothing but one SELECT goes on to the parser."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("clickhouse").tokenize(sql)
    except SqlglotError as exc:
        raise _refuse("SQL the parser cannot read", _first_line(exc)) from None
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    statements = [s for s in statements if s]
    if not statements:
        raise _refuse("an empty statement", _ONLY_SELECT)
    if len(statements) > 1:
        names = ", ".join(s[0].text.upper() for s in statements)
        raise _refuse(f"{len(statements)} statements ({names})", "one SELECT at a time")
    first = statements[0][0]
    if first.token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
        raise _refuse(first.text.upper(), _ONLY_SELECT)
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.token_type == TokenType.INTO and following.text.upper() == "OUTFILE":
            raise _refuse("INTO OUTFILE", "it writes a file")


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split("\n")[0].split())


def _check_database(db: str, catalog: str, name: str) -> None:
    if catalog or (db and db != DATABASE):
        raise _refuse(".".join(p for p in (catalog, db, name) if p), _OUTSIDE)


def _check_table(table: exp.Table) -> None:
    source = table.this
    if isinstance(source, exp.Func):
        name = _function_name(source)
        if name.lower() not in TABLE_FUNCTIONS or table.db or table.catalog:
            raise _refuse(f"the table function {name}()", f"{_OUTSIDE} (and numbers())")
        return
    alias = table.args.get("alias")
    if not isinstance(source, exp.Identifier) or (alias is not None and not alias.name and alias.columns):
        # `name(args)` that the parser read as a table with column aliases: a table function
        raise _refuse(f"the table function {table.name or table.sql(dialect='clickhouse')}()", _OUTSIDE)
    _check_database(table.db, table.catalog, table.name)


def _check_source(node: exp.Expression, array_join: bool = False) -> None:
    """What a FROM or JOIN reads: a table, a subquery, or an ARRAY JOIN's arrays."""
    while isinstance(node, (exp.Alias, exp.Final)):
        node = node.this
    if array_join or isinstance(node, (exp.Table, exp.Subquery)):
        return
    raise _refuse(f"FROM {node.sql(dialect='clickhouse')[:80]}", f"{_OUTSIDE} (and subqueries, numbers())")


def _check_in(node: exp.In) -> None:
    """`x IN db.table` and `x IN (db.table)`: ClickHouse reads a table there."""
    operands = [node.args.get("field")] + (node.expressions if len(node.expressions) == 1 else [])
    for operand in operands:
        while isinstance(operand, exp.Paren):
            operand = operand.this
        if isinstance(operand, exp.Column) and operand.table:
            _check_database(operand.table, operand.db, operand.name)


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, _WRITES):
        raise _refuse(_statement_name(node), _ONLY_SELECT)
    if node.args.get("settings"):
        raise _refuse("a SETTINGS clause", "the read path's settings and limits are fixed")
    if node.args.get("format"):
        raise _refuse("a FORMAT clause", "the read path chooses the output format")
    if isinstance(node, exp.Select) and node.args.get("into"):
        raise _refuse("SELECT INTO", _ONLY_SELECT)
    if isinstance(node, exp.Table):
        _check_table(node)
    elif isinstance(node, exp.From):
        _check_source(node.this)
    elif isinstance(node, exp.Join):
        _check_source(node.this, array_join=str(node.args.get("kind") or "").upper() == "ARRAY")
    elif isinstance(node, exp.In):
        _check_in(node)
    elif isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
        _check_database(node.db, node.catalog, f"{node.table}.{node.name}")
    elif isinstance(node, exp.Func):
        name = _function_name(node).lower()
        if name in _FUNCTIONS or name.startswith(_FUNCTION_PREFIXES):
            raise _refuse(f"the function {_function_name(node)}()", "it reads files or tables by name")
        if name in _IN_FUNCTIONS:
            raise _refuse(f"the function {_function_name(node)}()", "write `x IN (...)`")


def check_read_only(sql: str) -> exp.Query:
    """The parsed statement if `sql` is one SELECT over the phospho database; else ReadOnlyError
    with one line naming what was refused."""
    _check_tokens(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, read="clickhouse") if s is not None]
    except SqlglotError as exc:
        raise _refuse("SQL the parser cannot read", _first_line(exc)) from None
    if len(statements) != 1:  # the tokens said one; the parser disagreeing is refused too
        raise _refuse(f"{len(statements)} statements as the parser reads them", "one SELECT at a time")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise _refuse(_statement_name(statement), _ONLY_SELECT)
    for node in statement.walk():
        _check_node(node)
    return statement
