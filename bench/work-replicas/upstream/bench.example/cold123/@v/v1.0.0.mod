module bench.example/cold123

go 1.21
