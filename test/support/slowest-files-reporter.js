/**
 * After every run, the ten slowest test files and their share of the summed file time: where the wall
 * clock of `npm test` goes (several files run at once, so the shares sum to more than the run's time).
 */
class SlowestFilesReporter {
  onRunComplete(_contexts, results) {
    const files = results.testResults
      .map((r) => ({ file: r.testFilePath, ms: r.perfStats.end - r.perfStats.start }))
      .filter((f) => f.ms > 0)
      .sort((a, b) => b.ms - a.ms);
    if (!files.length) return;
    const total = files.reduce((sum, f) => sum + f.ms, 0);
    const root = process.cwd() + '/';
    const lines = files
      .slice(0, 10)
      .map(
        (f) =>
          `${(f.ms / 1000).toFixed(1).padStart(7)} s ${((f.ms / total) * 100).toFixed(1).padStart(5)}%  ${f.file.replace(root, '')}`,
      );
    process.stderr.write(
      `\nslowest test files (of ${files.length}, ${(total / 1000).toFixed(0)} s in all):\n${lines.join('\n')}\n`,
    );
  }
}

module.exports = SlowestFilesReporter;
