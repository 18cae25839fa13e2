{#-
    The `states` CTE of int_slo_policy_states: the policy state of every SLO and hourly step,
    folded from step 0 on with budget_next_state over the `streaks` CTE (columns slo_id,
    step_index 0, 1, 2, … and the conditions budget_next_state reads).

    DuckDB: a recursive CTE, one step per iteration. Spark runs each iteration of a recursive
    CTE as a job of its own (and stops at 100 levels), so there the steps of each SLO are
    collected in order into one array and folded with `aggregate`, in a single pass.
-#}
{% macro budget_policy_states(streaks) -%}
    {{ return(adapter.dispatch('budget_policy_states', 'flowledger')(streaks)) }}
{%- endmacro %}

{% macro default__budget_policy_states(streaks) -%}
stepped (slo_id, step_index, state, since) as (

    select
        slo_id,
        step_index,
        {{ budget_next_state('null', '0') }},
        cast(0 as bigint)

    from {{ streaks }} as streaks
    where step_index = 0

    union all

    select
        slo_id,
        step_index,
        state,
        case when state = previous then since else step_index end
    from (
        select
            streaks.slo_id,
            streaks.step_index,
            {{ budget_next_state('stepped.state', 'stepped.since') }} as state,
            stepped.state as previous,
            stepped.since

        from stepped
        inner join {{ streaks }} as streaks
            on stepped.slo_id = streaks.slo_id
            and streaks.step_index = stepped.step_index + 1
    ) as next_steps

),

states as (

    select slo_id, step_index, state from stepped

)
{%- endmacro %}

{% macro spark__budget_policy_states(streaks) -%}
{%- set next_state = budget_next_state(
    'case when size(visited) = 0 then cast(null as string) else element_at(visited, -1).state end',
    'case when size(visited) = 0 then cast(0 as bigint) else element_at(visited, -1).since end'
) -%}
step_arrays as (

    select
        slo_id,
        array_sort(collect_list(struct(
            step_index, is_sufficient, budget_remaining, is_period_reset, is_at_risk_condition,
            is_recovered_condition, recovered_streak_hours, recover_hours, clear_streak_hours,
            clear_hours
        ))) as steps

    from {{ streaks }}
    group by slo_id

),

folded as (

    select
        slo_id,
        aggregate(
            steps,
            cast(array() as array<struct<step_index: bigint, state: string, since: bigint>>),
            (visited, streaks) -> concat(visited, array(named_struct(
                'step_index', cast(streaks.step_index as bigint),
                'state', {{ next_state }},
                'since', case
                    when size(visited) > 0 and element_at(visited, -1).state = {{ next_state }}
                        then element_at(visited, -1).since
                    else cast(streaks.step_index as bigint)
                end
            )))
        ) as states

    from step_arrays

),

states as (

    select
        folded.slo_id,
        step.step_index,
        step.state

    from folded
    lateral view inline(folded.states) step as step_index, state, since

)
{%- endmacro %}
