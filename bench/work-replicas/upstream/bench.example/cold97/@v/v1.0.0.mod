module bench.example/cold97

go 1.21
