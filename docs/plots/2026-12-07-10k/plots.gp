set terminal pngcairo size 900,560
set logscale x 2
unset logscale y
set grid
set key left top
set xlabel 'clients'
set ylabel 'ops/s'
set title "256 B payload: throughput"
set output "payload-256B-throughput.png"
plot "payload-256B-series0.dat" using 1:2 with linespoints title "pontoon lease (segments, in-process)", "payload-256B-series1.dat" using 1:2 with linespoints title "pontoon lease (segments, processes)", "payload-256B-series2.dat" using 1:2 with linespoints title "pontoon read-index (segments, in-process)", "payload-256B-series3.dat" using 1:2 with linespoints title "pontoon read-index (segments, processes)", "payload-256B-series4.dat" using 1:2 with linespoints title "pontoon wait-free (segments, in-process)", "payload-256B-series5.dat" using 1:2 with linespoints title "pontoon wait-free (segments, processes)", "payload-256B-series6.dat" using 1:2 with linespoints title "pontoon write (segments, in-process)", "payload-256B-series7.dat" using 1:2 with linespoints title "pontoon write (segments, processes)"
set logscale y
set ylabel 'latency ms'
set title "256 B payload: latency p50 (solid) and p99 (dashed)"
set output "payload-256B-latency.png"
plot "payload-256B-series0.dat" using 1:3 with linespoints lc 1 dt 1 title "pontoon lease (segments, in-process) p50", "payload-256B-series0.dat" using 1:4 with linespoints lc 1 dt 2 title "pontoon lease (segments, in-process) p99", "payload-256B-series1.dat" using 1:3 with linespoints lc 2 dt 1 title "pontoon lease (segments, processes) p50", "payload-256B-series1.dat" using 1:4 with linespoints lc 2 dt 2 title "pontoon lease (segments, processes) p99", "payload-256B-series2.dat" using 1:3 with linespoints lc 3 dt 1 title "pontoon read-index (segments, in-process) p50", "payload-256B-series2.dat" using 1:4 with linespoints lc 3 dt 2 title "pontoon read-index (segments, in-process) p99", "payload-256B-series3.dat" using 1:3 with linespoints lc 4 dt 1 title "pontoon read-index (segments, processes) p50", "payload-256B-series3.dat" using 1:4 with linespoints lc 4 dt 2 title "pontoon read-index (segments, processes) p99", "payload-256B-series4.dat" using 1:3 with linespoints lc 5 dt 1 title "pontoon wait-free (segments, in-process) p50", "payload-256B-series4.dat" using 1:4 with linespoints lc 5 dt 2 title "pontoon wait-free (segments, in-process) p99", "payload-256B-series5.dat" using 1:3 with linespoints lc 6 dt 1 title "pontoon wait-free (segments, processes) p50", "payload-256B-series5.dat" using 1:4 with linespoints lc 6 dt 2 title "pontoon wait-free (segments, processes) p99", "payload-256B-series6.dat" using 1:3 with linespoints lc 7 dt 1 title "pontoon write (segments, in-process) p50", "payload-256B-series6.dat" using 1:4 with linespoints lc 7 dt 2 title "pontoon write (segments, in-process) p99", "payload-256B-series7.dat" using 1:3 with linespoints lc 8 dt 1 title "pontoon write (segments, processes) p50", "payload-256B-series7.dat" using 1:4 with linespoints lc 8 dt 2 title "pontoon write (segments, processes) p99"
unset output
set terminal svg size 900,560
set logscale x 2
unset logscale y
set grid
set key left top
set xlabel 'clients'
set ylabel 'ops/s'
set title "256 B payload: throughput"
set output "payload-256B-throughput.svg"
plot "payload-256B-series0.dat" using 1:2 with linespoints title "pontoon lease (segments, in-process)", "payload-256B-series1.dat" using 1:2 with linespoints title "pontoon lease (segments, processes)", "payload-256B-series2.dat" using 1:2 with linespoints title "pontoon read-index (segments, in-process)", "payload-256B-series3.dat" using 1:2 with linespoints title "pontoon read-index (segments, processes)", "payload-256B-series4.dat" using 1:2 with linespoints title "pontoon wait-free (segments, in-process)", "payload-256B-series5.dat" using 1:2 with linespoints title "pontoon wait-free (segments, processes)", "payload-256B-series6.dat" using 1:2 with linespoints title "pontoon write (segments, in-process)", "payload-256B-series7.dat" using 1:2 with linespoints title "pontoon write (segments, processes)"
set logscale y
set ylabel 'latency ms'
set title "256 B payload: latency p50 (solid) and p99 (dashed)"
set output "payload-256B-latency.svg"
plot "payload-256B-series0.dat" using 1:3 with linespoints lc 1 dt 1 title "pontoon lease (segments, in-process) p50", "payload-256B-series0.dat" using 1:4 with linespoints lc 1 dt 2 title "pontoon lease (segments, in-process) p99", "payload-256B-series1.dat" using 1:3 with linespoints lc 2 dt 1 title "pontoon lease (segments, processes) p50", "payload-256B-series1.dat" using 1:4 with linespoints lc 2 dt 2 title "pontoon lease (segments, processes) p99", "payload-256B-series2.dat" using 1:3 with linespoints lc 3 dt 1 title "pontoon read-index (segments, in-process) p50", "payload-256B-series2.dat" using 1:4 with linespoints lc 3 dt 2 title "pontoon read-index (segments, in-process) p99", "payload-256B-series3.dat" using 1:3 with linespoints lc 4 dt 1 title "pontoon read-index (segments, processes) p50", "payload-256B-series3.dat" using 1:4 with linespoints lc 4 dt 2 title "pontoon read-index (segments, processes) p99", "payload-256B-series4.dat" using 1:3 with linespoints lc 5 dt 1 title "pontoon wait-free (segments, in-process) p50", "payload-256B-series4.dat" using 1:4 with linespoints lc 5 dt 2 title "pontoon wait-free (segments, in-process) p99", "payload-256B-series5.dat" using 1:3 with linespoints lc 6 dt 1 title "pontoon wait-free (segments, processes) p50", "payload-256B-series5.dat" using 1:4 with linespoints lc 6 dt 2 title "pontoon wait-free (segments, processes) p99", "payload-256B-series6.dat" using 1:3 with linespoints lc 7 dt 1 title "pontoon write (segments, in-process) p50", "payload-256B-series6.dat" using 1:4 with linespoints lc 7 dt 2 title "pontoon write (segments, in-process) p99", "payload-256B-series7.dat" using 1:3 with linespoints lc 8 dt 1 title "pontoon write (segments, processes) p50", "payload-256B-series7.dat" using 1:4 with linespoints lc 8 dt 2 title "pontoon write (segments, processes) p99"
unset output
