module bench.example/cold202

go 1.21
