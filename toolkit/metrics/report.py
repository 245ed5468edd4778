"""Rich console tables of a metric report (``HarmonizationMetric.last_report`` or its JSON)."""
from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

METRIC_COLUMNS = (('MSE', '{:.2f}'), ('fMSE', '{:.2f}'), ('PSNR', '{:.2f}'), ('fPSNR', '{:.2f}'),
                  ('SSIM', '{:.4f}'), ('fSSIM', '{:.4f}'))


def _cell(value, fmt):
    return '–' if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def report_table(summary: dict, title: str) -> Table:
    table = Table(title=title, title_justify='left')
    table.add_column('rows')
    table.add_column('N', justify='right')
    for name, _ in METRIC_COLUMNS:
        table.add_column(name, justify='right')
    for group in ('subsets', 'fg_bins'):
        for name, row in summary[group].items():
            style = 'bold' if name == 'All' else ('dim' if group == 'fg_bins' else None)
            cells = [_cell(row.get(metric), fmt) for metric, fmt in METRIC_COLUMNS]
            table.add_row(name, str(row['N']), *cells, style=style,
                          end_section=(group == 'subsets' and name == 'All'))
    return table


def print_report(report: dict, console: Console | None = None, model_title: str = 'model') -> None:
    """Print the input-composite and model tables and the profile definition."""
    console = console or Console()
    if 'input' in report:
        console.print(report_table(report['input'], 'input composite (no harmonization)'))
    console.print(report_table(report['model'], model_title))
    console.print(f'[dim]{report["profile"]["definition"]}[/dim]')


def report_markdown(report: dict, title: str = 'model') -> str:
    """Markdown tables (input composite row group, then the model) with the profile definition."""
    lines = []
    groups = ([('input composite (no harmonization)', report['input'])] if 'input' in report else [])
    groups.append((title, report['model']))
    for heading, summary in groups:
        lines += [f'### {heading}', '', '| rows | N | ' + ' | '.join(name for name, _ in METRIC_COLUMNS) + ' |',
                  '|---|---:|' + '---:|' * len(METRIC_COLUMNS)]
        for group in ('subsets', 'fg_bins'):
            for name, row in summary[group].items():
                cells = ' | '.join(_cell(row.get(metric), fmt) for metric, fmt in METRIC_COLUMNS)
                label = f'**{name}**' if name == 'All' else name
                lines.append(f'| {label} | {row["N"]} | {cells} |')
        lines.append('')
    lines.append(f'_{report["profile"]["definition"]}_')
    return '\n'.join(lines) + '\n'
