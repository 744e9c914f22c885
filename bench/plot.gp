# Bar chart of req/s relative to static nginx's hello world, by contestant
# and scenario.  bench.py runs:
#   gnuplot -e "datafile='…'; outfile='…'; n=<contestants>; subtitle='…'" plot.gp
# datafile: one line per contestant: "label" hello strings compute (NaN: n/a).

set terminal pngcairo size 1000,560 font "sans,11"
set output outfile
set termoption noenhanced
set title "req/s relative to static nginx (hello world = 1.0), higher is better\n" . subtitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set ylabel "ratio to static nginx"
set xtics nomirror
set xrange [-0.75:n - 0.25]
set bmargin 4
fmt(v) = v < 0.1 ? sprintf("%.3f", v) : sprintf("%.2f", v)
set datafile missing "NaN"
plot datafile using 2:xtic(1) title "1. hello world" lc rgb "#4e79a7", \
     ''       using 3 title "2. string work" lc rgb "#f28e2b", \
     ''       using 4 title "3. compute fib(20)" lc rgb "#59a14f", \
     ''       using ($0 - 0.25):2:(fmt($2)) with labels offset 0,0.7 font ",8" notitle, \
     ''       using ($0):3:(fmt($3)) with labels offset 0,0.7 font ",8" notitle, \
     ''       using ($0 + 0.25):4:(fmt($4)) with labels offset 0,0.7 font ",8" notitle
