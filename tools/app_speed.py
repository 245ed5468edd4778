"""How long the page of `harmony app` takes to show its first result, against `harmony harmonize` on the same image.

    python tools/app_speed.py [--size 4992x3328] [--model NAME] [--runs 3] [--chromium /usr/bin/chromium] [--out F]

The page is used in headless Chromium (Playwright) as a person would: choose the composite and the mask, click
Harmonize; the time runs from the click until the result image has loaded (upload, checks, the model at full
resolution, writing the PNG, the browser decoding it). The first run of a page pays for loading the model; the
median of --runs runs on one page is reported too. The CLI's time is a whole `harmony harmonize` call (start-up
included), the median of --runs.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    parser = argparse.ArgumentParser(description='first result on the page vs the CLI')
    parser.add_argument('--size', default='4992x3328')
    parser.add_argument('--model', default=None, help='zoo name (default: the default model)')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--chromium', default=shutil.which('chromium') or shutil.which('chromium-browser'))
    parser.add_argument('--out')
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from toolkit.benchmark.harmonize_speed import synthetic_composite, time_command
    from toolkit.zoo import default_model_name
    model = args.model or default_model_name()
    width, height = (int(value) for value in args.size.lower().split('x'))
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
    environment = dict(os.environ, PYTHONPATH=repo)
    with tempfile.TemporaryDirectory() as work:
        image, mask = synthetic_composite(work, width, height)
        cli = time_command([sys.executable, '-m', 'toolkit.cli', 'harmonize', '-m', model, image, mask, '-o',
                            os.path.join(work, 'cli.png'), '--overwrite'], environment, args.runs)
        server = subprocess.Popen([sys.executable, '-m', 'toolkit.cli', 'app', '--port', '0'], stdout=subprocess.PIPE,
                                  text=True, env=environment)
        try:
            url = re.search(r'http://\S+/', server.stdout.readline())[0]
            page_times = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=['--no-sandbox'])
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector('body[data-ready="true"]')
                for box in page.query_selector_all('.model-choice'):
                    if box.is_checked() != (box.get_attribute('value') == model):
                        box.click()
                for _ in range(args.runs):
                    page.set_input_files('#composite-file', image)
                    page.set_input_files('#mask-file', mask)
                    start = time.perf_counter()
                    page.click('#harmonize-btn')
                    page.wait_for_function('(() => { const i = document.querySelector("img.result-image"); '
                                           'return i && i.complete && i.naturalWidth > 0; })()', timeout=300_000)
                    page_times.append(time.perf_counter() - start)
                browser.close()
        finally:
            server.terminate()
            server.wait()
    result = dict(model=model, size=args.size, cli_s=cli['median_s'], page_first_s=page_times[0],
                  page_median_s=statistics.median(page_times), page_runs_s=page_times,
                  ratio_first=page_times[0] / cli['median_s'],
                  ratio_median=statistics.median(page_times) / cli['median_s'])
    print(f"{model} at {args.size}: `harmony harmonize` {cli['median_s']:.2f} s (whole call, median of {args.runs}); "
          f"page, click → result shown: first {page_times[0]:.2f} s ({result['ratio_first']:.2f}×), median "
          f"{result['page_median_s']:.2f} s ({result['ratio_median']:.2f}×)")
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)


if __name__ == '__main__':
    main()
