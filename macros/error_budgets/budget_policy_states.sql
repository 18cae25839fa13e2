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
states (slo_id, step_index, state) as (

    select
        slo_id,
        step_index,
        {{ budget_next_state('null') }}

    from {{ streaks }} as streaks
    where step_index = 0

    union all

    select
        streaks.slo_id,
        streaks.step_index,
        {{ budget_next_state('states.state') }}

    from states
    inner join {{ streaks }} as streaks
        on states.slo_id = streaks.slo_id
        and streaks.step_index = states.step_index + 1

)
{%- endmacro %}

{% macro spark__budget_policy_states(streaks) -%}
step_arrays as (

    select
        slo_id,
        array_sort(collect_list(struct(
            step_index, is_sufficient, budget_remaining, is_period_reset, is_at_risk_condition,
            recovered_streak_hours, recover_hours, clear_streak_hours, clear_hours
        ))) as steps

    from {{ streaks }}
    group by slo_id

),

folded as (

    select
        slo_id,
        aggregate(
            steps,
            cast(array() as array<struct<step_index: bigint, state: string>>),
            (visited, streaks) -> concat(visited, array(named_struct(
                'step_index', cast(streaks.step_index as bigint),
                'state', {{ budget_next_state(
                    'case when size(visited) = 0 then cast(null as string)'
                    ~ ' else element_at(visited, -1).state end'
                ) }}
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
    lateral view inline(folded.states) step as step_index, state

)
{%- endmacro %}
