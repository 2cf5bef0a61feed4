module bench.example/cold146

go 1.21
