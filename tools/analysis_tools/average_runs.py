"""The protocol table averaged over separate runs: RegDB's 10 trials, or seeds.

``python tools/analysis_tools/average_runs.py work_dirs/regdb/trial_*/results.json --out mean.json``

Each file is one run's ``tools/test.py --out`` (``.json`` or ``.csv``). Cells
are the mean over the runs and the population standard deviation between
them (``tools/regdb_trials.sh`` trains, tests and averages all 10 trials).
"""
import argparse

from vireid.evaluation import average_runs, dump_results, format_protocol_table, load_results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Average the protocol tables of several runs')
    parser.add_argument('results', nargs='+', metavar='RESULTS',
                        help='tools/test.py --out files (.json or .csv), one per run')
    parser.add_argument('--out', help='write the averaged metrics to this .json or .csv file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    repeated = sorted({path for path in args.results if args.results.count(path) > 1})
    if repeated:
        raise SystemExit(f'average_runs.py: {repeated[0]} is given more than once')
    runs = {path: load_results(path) for path in args.results}
    averaged = average_runs(runs)
    print(f'mean ± std over {len(runs)} runs: {", ".join(runs)}')
    print(format_protocol_table(averaged))
    if args.out:
        dump_results(averaged, args.out)
        print(f'averaged metrics written to {args.out}')


if __name__ == '__main__':
    main()
