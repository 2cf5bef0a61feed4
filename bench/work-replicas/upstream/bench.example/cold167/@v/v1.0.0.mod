module bench.example/cold167

go 1.21
