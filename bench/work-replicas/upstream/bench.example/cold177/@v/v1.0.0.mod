module bench.example/cold177

go 1.21
